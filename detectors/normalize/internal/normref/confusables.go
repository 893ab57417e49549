package normref

// confusables maps characters that render like a Latin letter or digit to
// that letter (lower case). It is a curated subset of Unicode's
// confusables.txt covering Cyrillic, Greek, Armenian, Cherokee-free Latin
// extensions and common symbol lookalikes; fullwidth and mathematical
// alphanumerics are already handled by NFKC.
var confusables = map[rune]rune{
	// Cyrillic lower
	'а': 'a', 'в': 'b', 'е': 'e', 'ё': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c', 'т': 't',
	'у': 'y', 'х': 'x', 'ѕ': 's', 'і': 'i', 'ї': 'i', 'ј': 'j', 'ԁ': 'd', 'һ': 'h', 'ԛ': 'q', 'ԝ': 'w', 'ӏ': 'l',
	'ɡ': 'g', 'ь': 'b', 'п': 'n', 'г': 'r', 'ц': 'u', 'ᴠ': 'v', 'ꮃ': 'w',
	// Cyrillic upper
	'А': 'a', 'В': 'b', 'Е': 'e', 'Ё': 'e', 'К': 'k', 'М': 'm', 'Н': 'h', 'О': 'o', 'Р': 'p', 'С': 'c', 'Т': 't',
	'У': 'y', 'Х': 'x', 'Ѕ': 's', 'І': 'i', 'Ї': 'i', 'Ј': 'j', 'Ԁ': 'd', 'Һ': 'h', 'Ԛ': 'q', 'Ԝ': 'w', 'Ӏ': 'l',
	// Greek
	'α': 'a', 'β': 'b', 'ε': 'e', 'η': 'n', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o', 'ρ': 'p', 'τ': 't', 'υ': 'u',
	'χ': 'x', 'γ': 'y', 'ω': 'w', 'ϲ': 'c', 'ϳ': 'j',
	'Α': 'a', 'Β': 'b', 'Ε': 'e', 'Ζ': 'z', 'Η': 'h', 'Ι': 'i', 'Κ': 'k', 'Μ': 'm', 'Ν': 'n', 'Ο': 'o', 'Ρ': 'p',
	'Τ': 't', 'Υ': 'y', 'Χ': 'x', 'Ϲ': 'c',
	// Armenian and misc Latin lookalikes
	'օ': 'o', 'ս': 'u', 'ց': 'g', 'ո': 'n', 'հ': 'h', 'ք': 'p', 'զ': 'q',
	'ı': 'i', 'ȷ': 'j', 'ɑ': 'a', 'ʀ': 'r', 'ʏ': 'y', 'ɪ': 'i', 'ᴏ': 'o', 'ᴄ': 'c', 'ᴜ': 'u', 'ᴡ': 'w', 'ᴢ': 'z',
	'ℓ': 'l', '∅': 'o', 'ǀ': 'l', '׀': 'l', 'ℐ': 'i', 'ⅼ': 'l',
}
