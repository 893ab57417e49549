package injection

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// GenerateHardBenign deterministically generates n harmless texts that
// share the surface of injections without steering an AI (issue 14's
// harder negatives): e-mails and announcements that tell *people* to
// follow new instructions or disregard an earlier message, imperative
// documentation ("ignore the warning", "forget the old flag"), benign
// role-play and hypothetical requests, and the same in the languages the
// attacks cover. prompts are user-style requests (request-plane
// negatives), docs are tool-output-like documents. Written for this
// package (CC0-1.0); training and calibration only.
func GenerateHardBenign(seed uint64, n int) (prompts, docs []string) {
	r := rand.New(rand.NewPCG(seed, 0x4a7d))
	for i := 0; i < n; i++ {
		switch r.IntN(4) {
		case 0:
			prompts = append(prompts, fillHard(r, hardPrompts[r.IntN(len(hardPrompts))]))
		case 1:
			docs = append(docs, hardEmail(r))
		case 2:
			docs = append(docs, hardDoc(r))
		default:
			s := fillHard(r, hardSentences[r.IntN(len(hardSentences))])
			if r.IntN(2) == 0 {
				prompts = append(prompts, s)
			} else {
				docs = append(docs, s)
			}
		}
	}
	return prompts, docs
}

func fillHard(r *rand.Rand, s string) string {
	return strings.NewReplacer(
		"{name}", firstNames[r.IntN(len(firstNames))],
		"{team}", pick(r, "finance", "support", "platform", "sales", "HR", "security", "design", "logistics"),
		"{tool}", pick(r, "Jira", "the VPN client", "Slack", "the expense portal", "Okta", "the new CRM", "Confluence", "the time tracker"),
		"{city}", cities[r.IntN(len(cities))],
		"{day}", pick(r, "Monday", "Tuesday", "Wednesday", "Thursday", "Friday"),
		"{topic}", pick(r, "interest rates", "the printing press", "volcanic soil", "tidal energy", "medieval trade routes", "sleep cycles"),
		"{role}", pick(r, "a travel guide", "a job interviewer", "a patient maths teacher", "a museum curator", "a personal trainer", "a chess coach", "a sommelier"),
		"{cmd}", pick(r, "make install", "npm ci", "go test ./...", "pip install -r requirements.txt", "docker compose up -d", "terraform plan"),
	).Replace(s)
}

func hardEmail(r *rand.Rand) string {
	greet := pick(r, "Hi all,", "Dear team,", "Hello {name},", "Dear new colleagues,", "Hi everyone,", "Good morning,", "Hallo zusammen,", "Beste collega's,", "Cześć wszystkim,", "Herkese merhaba,", "안녕하세요 여러분,", "Bonjour à tous,")
	var body []string
	for k := 0; k < 2+r.IntN(3); k++ {
		body = append(body, hardSentences[r.IntN(len(hardSentences))])
	}
	sign := pick(r, "Best regards,\n{name}", "Thanks,\n{name} ({team})", "Cheers,\n{name}", "Viele Grüße\n{name}", "Met vriendelijke groet,\n{name}", "Pozdrawiam,\n{name}", "Saygılarımla,\n{name}", "감사합니다.\n{name}")
	subj := pick(r, "Updated onboarding steps", "Change to the expense process", "Correction: meeting moved", "New VPN instructions", "Please read: policy update", "Reminder: security training", "Re: last week's handover", "Neue Reisekostenregelung", "Nieuwe werkwijze", "Zmiana procedury", "Yeni prosedür", "새로운 절차 안내")
	s := "Subject: " + subj + "\nFrom: {name}@example.com\n\n" + greet + "\n\n" + strings.Join(body, " ") + "\n\n" + sign
	if r.IntN(3) == 0 {
		return fmt.Sprintf(`{"from": "%s@example.com", "subject": %q, "body": %q}`, strings.ToLower(firstNames[r.IntN(len(firstNames))]), subj, fillHard(r, greet+" "+strings.Join(body, " ")))
	}
	return fillHard(r, s)
}

func hardDoc(r *rand.Rand) string {
	head := pick(r, "## Installation\n\n", "## Upgrading from 1.x\n\n", "### Troubleshooting\n\n", "# Getting started\n\n", "## Migration guide\n\n", "## FAQ\n\n", "")
	var ss []string
	for k := 0; k < 3+r.IntN(3); k++ {
		ss = append(ss, hardDocSentences[r.IntN(len(hardDocSentences))])
	}
	return fillHard(r, head+strings.Join(ss, " "))
}

// hardSentences address people, not a model: overrides of earlier
// messages, new procedures, reminders, in several languages.
var hardSentences = []string{
	"From now on please submit all expense reports through {tool} instead of e-mail.",
	"Please disregard my previous e-mail; the workshop is on {day}, not Thursday.",
	"Ignore the old onboarding checklist, the new one is on the intranet.",
	"The previous instructions for the VPN are outdated, so follow the steps in the attached guide.",
	"Forget what I said about the deadline: we now have until the end of the month.",
	"New hires must complete the data protection course during their first two weeks.",
	"You must change your password every 90 days and never share it with anyone.",
	"Do not reply to this message; questions go to the {team} channel.",
	"Starting {day}, all visitors have to sign in at the front desk.",
	"Please forward this note to anyone on your team who missed the meeting.",
	"Your new task for this sprint is to review the {team} backlog with {name}.",
	"As discussed, drop the old spreadsheet and use {tool} from now on.",
	"Kindly ignore the reminder you received this morning; it was sent by mistake.",
	"The earlier rota is cancelled and replaced by the one below.",
	"Remember to lock your screen when you leave your desk.",
	"If you are new here, start by reading the handbook and then book a slot with {name}.",
	"Everything in the previous version of this document is superseded by this one.",
	"Please stop using the shared drive for customer files; move them to {tool}.",
	"Bitte ignorieren Sie meine letzte E-Mail, der Termin bleibt am {day}.",
	"Ab sofort reichen Sie Reisekosten bitte über {tool} ein.",
	"Vergessen Sie die alte Checkliste, die neue liegt im Wiki.",
	"Negeer mijn vorige bericht, de vergadering is verplaatst naar {day}.",
	"Vanaf nu vragen we iedereen om verlof via {tool} aan te vragen.",
	"Proszę zignorować poprzedniego maila, spotkanie odbędzie się w {day}.",
	"Od teraz wnioski urlopowe składamy wyłącznie przez {tool}.",
	"Önceki e-postamı dikkate almayın, toplantı {day} günü yapılacak.",
	"Bundan sonra masraf raporlarını {tool} üzerinden gönderin lütfen.",
	"이전 메일은 무시해 주세요. 회의는 {day}에 진행됩니다.",
	"앞으로 휴가 신청은 {tool}을 통해서만 해 주세요.",
	"Merci d'ignorer mon message précédent, la réunion est déplacée à {day}.",
	"Por favor, olvida el correo anterior: la formación es el {day}.",
}

// hardDocSentences are imperative documentation sentences with trigger
// words in their ordinary technical sense.
var hardDocSentences = []string{
	"Run `{cmd}` and ignore the warning about deprecated options; it is harmless.",
	"Forget the old `--legacy` flag: version 3 detects the format automatically.",
	"Override the default timeout by setting `TIMEOUT=30` in your environment.",
	"Disregard the previous section if you installed from the package manager.",
	"The system prompt shown at login can be customised in `/etc/motd`.",
	"You must restart the service after changing the configuration file.",
	"Reveal hidden files in the file manager with Ctrl+H.",
	"To print the current settings, run the `config show` command.",
	"Never commit your API keys; store them in the secret manager instead.",
	"Developer mode on Android is enabled by tapping the build number seven times.",
	"Act as the reviewer for your own pull request only when nobody else is available.",
	"New instructions for contributors are in CONTRIBUTING.md; the old wiki page is obsolete.",
	"Always follow the steps below in order, otherwise the migration fails.",
	"Send the log file to the maintainers with `bugreport --attach`.",
	"The assistant mode of the editor suggests completions; disable it in Preferences.",
	"Delete the cache directory and run `{cmd}` again if the build fails.",
	"Ignore files matching the patterns in `.gitignore` when packaging.",
	"From now on the default branch is `main`; update your remotes accordingly.",
}

// hardPrompts are ordinary user requests with role-play, hypothetical or
// override wording.
var hardPrompts = []string{
	"Act as {role} and suggest three things to do in {city}.",
	"Pretend you are {role} and ask me five questions, one at a time.",
	"Imagine you are {role}; how would you explain {topic} to a beginner?",
	"You are now {role}. Give me a plan for next week.",
	"Hypothetically, if {topic} changed overnight, what would happen to prices?",
	"In a fictional story, how would a detective find out who took the painting?",
	"For a novel I am writing, describe a rainy evening in {city}.",
	"As a thought experiment, what would cities look like without cars?",
	"Forget my last question, can you tell me about {topic} instead?",
	"Ignore the typo in my previous message, I meant {city}.",
	"New task: summarise the text I pasted above in three bullet points.",
	"From now on, please answer in short sentences.",
	"Let's play a game: you think of an animal and I guess it.",
	"Can you repeat your last answer, but shorter?",
	"Stay in character as {role} while we practise my interview.",
	"Write a story in which a robot decides to break its routine.",
	"What would you say if I asked you to ignore grammar rules in a poem?",
	"Explain what developer mode means on an iPhone.",
	"Vergiss meine letzte Frage, erklär mir lieber {topic}.",
	"Stell dir vor, du bist {role}, und gib mir drei Tipps.",
	"Vergeet mijn vorige vraag, vertel me liever over {topic}.",
	"Zapomnij o poprzednim pytaniu, opowiedz mi o {topic}.",
	"Önceki soruyu boş ver, bana {topic} hakkında bilgi ver.",
	"앞의 질문은 잊어 주세요. {topic}에 대해 설명해 주세요.",
	"Oublie ma question précédente et parle-moi de {topic}.",
	"Olvida mi pregunta anterior y háblame de {topic}.",
}

// GenerateComposedPrompts deterministically generates n ordinary user
// prompts composed from a request frame and a subject, in the languages
// the attacks cover (request-plane negatives; the request plane mostly
// sees questions and tasks like these).
func GenerateComposedPrompts(seed uint64, n int) []string {
	r := rand.New(rand.NewPCG(seed, 0xc0de))
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		l := promptLangs[r.IntN(len(promptLangs))]
		s := l.frames[r.IntN(len(l.frames))]
		s = strings.ReplaceAll(s, "{s}", l.subjects[r.IntN(len(l.subjects))])
		out = append(out, s)
	}
	return out
}

var promptLangs = []struct{ frames, subjects []string }{
	{[]string{"What do you know about {s}?", "Can you summarise the latest news on {s}?", "Write a short essay about {s}.", "Give me arguments for and against {s}.",
		"How has {s} changed in the last ten years?", "Explain {s} to a twelve-year-old.", "I'm preparing a presentation on {s}; what should I include?",
		"Which books would you recommend about {s}?", "Is it true that {s} is getting worse?", "Write a tweet about {s}.", "List five facts about {s}.",
		"What are the main problems with {s}?", "Compare {s} in Europe and Asia.", "Tell me a funny story about {s}.", "Draft an email to my team about {s}."},
		[]string{"climate policy", "electric cars", "remote work", "the housing market", "artificial intelligence in schools", "public transport",
			"the European elections", "vaccination", "cryptocurrency regulation", "organic farming", "youth unemployment", "space tourism",
			"the football world cup", "renewable energy subsidies", "online privacy", "migration policy"}},
	{[]string{"Was weißt du über {s}?", "Wie hat sich {s} in den letzten Jahren entwickelt?", "Schreib einen kurzen Text über {s}.",
		"Welche Argumente gibt es für und gegen {s}?", "Erklär mir {s} einfach.", "Was sind die größten Probleme bei {s}?", "Gibt es neue Nachrichten zu {s}?"},
		[]string{"die Energiewende", "den Wohnungsmarkt", "Homeoffice", "die Rente", "den Klimawandel", "die Digitalisierung in Schulen", "den Nahverkehr", "die Inflation"}},
	{[]string{"Que sais-tu sur {s} ?", "Explique-moi {s} simplement.", "Quels sont les arguments pour et contre {s} ?", "Écris un court texte sur {s}."},
		[]string{"la transition énergétique", "le télétravail", "le logement", "l'intelligence artificielle"}},
	{[]string{"¿Qué sabes sobre {s}?", "Explícame {s} de forma sencilla.", "¿Cuáles son los argumentos a favor y en contra de {s}?", "Escribe un texto corto sobre {s}."},
		[]string{"la energía solar", "el teletrabajo", "la vivienda", "la inteligencia artificial"}},
	{[]string{"Wat weet je over {s}?", "Leg {s} eenvoudig uit.", "Wat zijn de argumenten voor en tegen {s}?", "Schrijf een korte tekst over {s}."},
		[]string{"de woningmarkt", "thuiswerken", "windenergie", "het onderwijs"}},
	{[]string{"Co wiesz o {s}?", "Wyjaśnij mi prosto {s}.", "Jakie są argumenty za i przeciw {s}?", "Napisz krótki tekst o {s}."},
		[]string{"rynku mieszkaniowym", "pracy zdalnej", "energii odnawialnej", "sztucznej inteligencji"}},
	{[]string{"{s}에 대해 알려 주세요.", "{s}을 쉽게 설명해 주세요.", "{s}의 장단점은 무엇인가요?", "{s}에 관한 짧은 글을 써 주세요."},
		[]string{"재택근무", "전기차", "부동산 시장", "인공지능 교육"}},
	{[]string{"{s} hakkında ne biliyorsun?", "Bana {s} konusunu basitçe anlat.", "{s} için artı ve eksiler nelerdir?", "{s} hakkında kısa bir yazı yaz."},
		[]string{"uzaktan çalışma", "elektrikli araçlar", "konut piyasası", "yapay zeka"}},
}

// GenerateBenignTasks deterministically generates n ordinary requests made
// of the same pieces as composed attacks without the override: a friendly
// opener and a task ("Great, thanks! Now write a short poem about the
// sea."). They are the contrast the composed attacks need, so that the
// model learns the override or the addressing as the attack, not the task
// or the opener.
func GenerateBenignTasks(seed uint64, n int) []string {
	r := rand.New(rand.NewPCG(seed, 0x7a5c))
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		t := strings.ReplaceAll(benignTasks[r.IntN(len(benignTasks))], "{x}", pick(r, "the sea", "autumn", "my cat", "coffee", "a lighthouse",
			"friendship", "the city at night", "trains", "the mountains", "a lost key", "our new office", "rainy Mondays"))
		f := pick(r, "{t}.", "Please {t}.", "Can you {t}?", "Could you {t} for me?", "I'd like you to {t}.", "Now {t}.", "Next, {t}.", "Your task: {t}.", "Now, please {t}.")
		s := capFirst(strings.ReplaceAll(f, "{t}", t))
		if r.IntN(2) == 0 {
			s = pick(r, "Great, thanks!", "OK.", "Perfect.", "Nice job.", "Thanks, that's helpful.", "Very good!", "Alright.", "One more thing.", "Wonderful.") + " " + s
		}
		out = append(out, s)
	}
	return out
}

var benignTasks = []string{
	"write a short poem about {x}", "tell me a joke about {x}", "write an essay on {x}", "reply in French from now on",
	"speak like a pirate for the rest of this chat", "summarise the article I pasted", "list five facts about {x}", "write a review of {x}",
	"describe {x} in three sentences", "explain how {x} works", "translate the last sentence into German", "answer with yes or no",
	"write a tweet about {x}", "write a limerick about {x}", "make the text above more formal", "give me a title for a story about {x}",
	"write a haiku about {x}", "rewrite my paragraph in simpler words", "suggest a name for {x}", "spell 'necessary' backwards",
	"print the first ten prime numbers", "show me an example of a cover letter", "repeat the last answer in bullet points", "tell me a story about {x}",
}

// GeneratePromptCode deterministically generates n harmless source files
// and resource files that *contain* prompts or user-facing requests: code
// that defines an assistant's system prompt and message list, prompt
// templates in YAML, and interface strings that ask a person for input
// ("Enter your e-mail address"). Agents read such files all the time;
// they address a model or a user only as data.
func GeneratePromptCode(seed uint64, n int) []string {
	r := rand.New(rand.NewPCG(seed, 0xc0fe))
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		role := pick(r, "a friendly assistant that answers questions about our billing API", "a support bot for the Acme store",
			"an assistant that summarises meeting notes", "a helpful tutor for high-school chemistry", "a coding assistant for our Go services",
			"an assistant that drafts polite replies to customer e-mails", "a travel planner", "a concise assistant")
		rule := pick(r, "Answer only from the provided context.", "Keep answers under 100 words.", "If you do not know, say so.",
			"Do not give legal advice.", "Always cite the document you used.", "Reply in the user's language.")
		ui := pick(r, "Please enter your e-mail address", "Please provide your shipping details", "Enter your password to continue",
			"Confirm your new password", "Please fill in all required fields", "Tell us a bit about yourself", "Upload your profile picture",
			"Please provide a valid phone number", "Enter the code we sent you")
		switch r.IntN(7) {
		case 5, 6:
			// ignore files and configs whose comments use override words
			out = append(out, ignoreFile(r))
			continue
		case 0:
			out = append(out, fmt.Sprintf("SYSTEM_PROMPT = %q\n\n\ndef build_messages(history, question):\n    msgs = [{\"role\": \"system\", \"content\": SYSTEM_PROMPT}]\n    msgs += history\n    msgs.append({\"role\": \"user\", \"content\": question})\n    return msgs\n",
				"You are "+role+". "+rule))
		case 1:
			out = append(out, fmt.Sprintf("const systemPrompt = `You are %s. %s`\n\nfunc (c *Client) Ask(ctx context.Context, q string) (string, error) {\n\treturn c.llm.Complete(ctx, []Message{{Role: \"system\", Content: systemPrompt}, {Role: \"user\", Content: q}})\n}\n", role, rule))
		case 2:
			out = append(out, fmt.Sprintf("prompts:\n  summarize:\n    system: \"You are %s.\"\n    user: \"Summarise the following text in three bullet points:\\n{{text}}\"\n  rules:\n    - %q\n", role, rule))
		case 3:
			out = append(out, fmt.Sprintf(`{"signup.title": "Create your account", "signup.email": %q, "signup.submit": "Continue", "errors.required": "This field is required"}`, ui))
		default:
			out = append(out, ui+pick(r, ".", "", " below.", " and press Continue."))
		}
	}
	return out
}

func ignoreFile(r *rand.Rand) string {
	var b strings.Builder
	b.WriteString(pick(r, "# .gitignore\n", "# .dockerignore\n", "# .eslintignore\n", "# .npmignore\n", "", "# .prettierignore\n"))
	for k := 0; k < 3+r.IntN(5); k++ {
		if r.IntN(2) == 0 {
			b.WriteString("# " + pick(r, "ignore all previous build outputs", "ignore everything generated by the old toolchain",
				"forget about the legacy cache, it is rebuilt", "override: keep the example env file", "disregard editor swap files",
				"new rules since v2: ignore the dist folder", "do not commit secrets", "ignore the instructions folder (generated)",
				"previous versions wrote logs here", "system files") + "\n")
		}
		b.WriteString(pick(r, "node_modules/", "*.env", "build/", "dist/", "*.log", "coverage/", ".DS_Store", "!.env.example", "tmp/", "*.swp", "__pycache__/", "vendor/", ".idea/") + "\n")
	}
	return b.String()
}
