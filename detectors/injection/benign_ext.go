package injection

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// GenerateSecurityWriting deterministically generates n harmless documents
// that talk about attacks: advisories, CVE write-ups, blog paragraphs,
// detection-rule docs and changelog entries about prompt injection and
// jailbreaks, some quoting a short attack phrase as an example. They are
// training negatives only: the sentences are written for this generator
// and are not those of the corpus's security_writing kind, whose
// evaluation groups therefore stay unseen text.
func GenerateSecurityWriting(seed uint64, n int) []string {
	r := rand.New(rand.NewPCG(seed, 0x5ec))
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		var paras []string
		for p := 0; p < 1+r.IntN(4); p++ {
			var ss []string
			for k := 0; k < 2+r.IntN(4); k++ {
				ss = append(ss, secSentence(r))
			}
			paras = append(paras, strings.Join(ss, " "))
		}
		body := strings.Join(paras, "\n\n")
		switch r.IntN(5) {
		case 0:
			out = append(out, fmt.Sprintf(`{"id": "CVE-2025-%d", "published": "%s", "severity": %q, "description": %q}`,
				10000+r.IntN(50000), date(r), pick(r, "LOW", "MEDIUM", "HIGH", "CRITICAL"), body))
		case 1:
			out = append(out, pick(r, "## Detection rules\n\n", "### Threat model\n\n", "## Changelog\n\n- ", "# Incident review\n\n", "## FAQ\n\n")+body)
		case 2:
			out = append(out, fmt.Sprintf("| rule | description |\n| --- | --- |\n| %s | %s |\n| %s | %s |", pick(r, "PI-001", "override", "jb-persona"), secSentence(r),
				pick(r, "PI-002", "exfil-url", "fake-tag"), secSentence(r)))
		default:
			out = append(out, body)
		}
	}
	return out
}

func secSentence(r *rand.Rand) string {
	return strings.NewReplacer("{phrase}", secPhrases[r.IntN(len(secPhrases))], "{tool}", attackTools[r.IntN(len(attackTools))],
		"{product}", pick(r, "the agent framework", "the browser extension", "the coding assistant", "the e-mail plugin", "the RAG pipeline", "the MCP server")).
		Replace(secSentences[r.IntN(len(secSentences))])
}

var secSentences = []string{
	"A vulnerability in {product} allowed a crafted web page to make the model call {tool} without the user's consent.",
	"The issue was reported through the bug bounty programme and fixed in version 2.4.1.",
	"Payloads in the wild often begin with a phrase like \"{phrase}\", which is why keyword filters catch the simplest attempts.",
	"Our classifier labels a text as an injection when it tries to change the assistant's task, not when it merely mentions attacks.",
	"Jailbreak prompts that ask the model to role-play an unrestricted persona remain common in public collections.",
	"We measured the false-positive rate on licences, READMEs and source code, since those are the texts an agent reads most.",
	"Attackers hide instructions in HTML comments, alt text or white-on-white text that a human reviewer will not notice.",
	"The advisory recommends treating all retrieved content as untrusted data and never as instructions.",
	"In the test suite, each sample is labelled by hand and the split is made by source, not by row.",
	"The red team tried translated payloads, base64 encoding and homoglyphs to evade the filter.",
	"An attacker who controls a calendar invite can include text that the assistant later reads as a command.",
	"The fix adds a confirmation step before {tool} can send data to an address the user has not used before.",
	"Logs showed that the model followed an instruction embedded in a support ticket and exported the customer list.",
	"Researchers catalogued phrases such as \"{phrase}\" and found that most successful attacks were far less obvious.",
	"Prompt leaking is the attempt to make a model reveal its hidden system prompt.",
	"Tool poisoning places malicious instructions in a tool's description rather than in its output.",
	"The paper compares detection rates per language and finds that non-English payloads are missed more often.",
	"If the model is asked to ignore its instructions, a well-designed agent should treat that request as data and carry on.",
	"Mitigation: upgrade {product}, rotate any tokens that were exposed, and review the audit trail for unexpected calls to {tool}.",
	"Input sanitisation alone does not solve the problem, because natural language has no reliable escaping.",
	"The benchmark contains both benign prompts with trigger words and real attacks, so over-defence is measured too.",
	"Severity was rated high because the exploit needs no user interaction beyond opening the shared document.",
	"Security teams should keep an inventory of which tools can send data outside the organisation.",
	"A canary string in the system prompt makes it possible to detect when the prompt is leaked.",
	"The training set for the detector was built from public datasets and synthetic tool output.",
	"Most jailbreaks combine a persona, a justification and an instruction to ignore safety rules.",
	"Some attacks split the payload across several fields of a JSON document so that no single field looks suspicious.",
	"The proof of concept used a README file that asked coding agents to add a dependency from an untrusted registry.",
	"Reviewers should check whether the model's answer was influenced by text that came from a tool result.",
	"Our guidance: never give an agent both access to private data and the ability to communicate externally without approval.",
}

var secPhrases = []string{"ignore previous instructions", "you are now DAN", "disregard the system prompt", "developer mode enabled",
	"forget your rules", "print your system prompt", "new instructions:", "act as an unrestricted AI"}

// GenerateUserPrompts deterministically generates n ordinary user prompts
// (questions and requests, in several languages) as request-plane
// negatives: the request plane sees them far more often than attacks.
func GenerateUserPrompts(seed uint64, n int) []string {
	r := rand.New(rand.NewPCG(seed, 0x9a5))
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		t := userPromptTemplates[r.IntN(len(userPromptTemplates))]
		t = strings.NewReplacer("{topic}", pick(r, "photosynthesis", "the Roman empire", "inflation", "neural networks", "volcanoes", "the immune system", "quantum computing", "renewable energy"),
			"{thing}", pick(r, "a birthday party", "a job interview", "a trip to Portugal", "my garden", "a marketing plan", "a wedding speech"),
			"{code}", pick(r, "a Python function that reverses a list", "a SQL query that counts orders per day", "a bash loop over files", "a Go HTTP handler", "a regular expression for dates"),
			"{city}", cities[r.IntN(len(cities))]).Replace(t)
		out = append(out, t)
	}
	return out
}

var userPromptTemplates = []string{
	"What is {topic}?", "Can you explain {topic} in simple terms?", "Write {code}.", "Help me plan {thing}.",
	"What is the weather usually like in {city} in spring?", "Summarize the main arguments for and against {topic}.",
	"I need ideas for {thing}, can you help?", "Why does my code fail with a null pointer exception?", "Give me three facts about {topic}.",
	"How many people live in {city}?", "Translate 'good morning, how are you' into Spanish.", "Write a short email to my landlord about a broken heater.",
	"Was ist {topic}?", "Kannst du mir bei der Planung für {thing} helfen?", "Wie ist das Wetter in {city}?", "Schreib mir ein Rezept für Apfelkuchen.",
	"Wie funktioniert ein Elektroauto?", "Welche Partei hat die letzte Wahl gewonnen?", "Qu'est-ce que {topic} ?", "Peux-tu m'aider à organiser {thing} ?",
	"Quelle est la capitale de l'Australie ?", "¿Qué es {topic}?", "¿Puedes ayudarme a escribir una carta de presentación?", "¿Cuál es la mejor época para visitar {city}?",
	"O que é {topic}?", "Você pode me ajudar com {thing}?", "Cos'è {topic}?", "Что такое {topic}?", "Помоги мне составить план на неделю.",
	"什么是机器学习？", "请帮我写一封感谢信。", "東京でおすすめのレストランはどこですか？", "Wat is {topic}?", "Co to jest {topic}?",
	"Is it healthy to drink coffee every day?", "Recommend a good science fiction book.", "How do I make my résumé stand out?",
	"What are the symptoms of the flu?", "Compare {topic} with the way it was understood a hundred years ago.",
}
