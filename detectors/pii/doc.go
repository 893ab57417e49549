// Package pii finds personal data in text with hand-written byte scanners
// (no regular expressions on the hot path) plus validators and context words.
//
// It owns the recognizers for CREDIT_CARD (Luhn + issuer prefix/length),
// US_SSN (area/group/serial rules), IBAN_CODE (country length + mod-97),
// EMAIL_ADDRESS, PHONE_NUMBER (github.com/nyaruka/phonenumbers validation or
// phone context words), IP_ADDRESS (v4 and v6 via net/netip), and the
// context-gated DATE_TIME (date of birth), MEDICAL_RECORD, US_DRIVER_LICENSE,
// US_PASSPORT, PERSON and LOCATION recognizers.
//
// Invariants: Find never panics, runs in time linear in len(s) (every
// candidate is bounded in length and context windows are fixed-size), and
// returns non-overlapping entities sorted by Start with byte offsets into s.
// Entity names follow Presidio.
//
// Results are pinned by testdata/find.golden (Find over the PII dev sentences
// and real tool output, generated from the code before the speed work):
// TestFindGolden must pass unchanged after an optimisation; an intended
// change of results is made with -update and reviewed as a diff of that file.
// FuzzFindInvariants checks the invariants above plus validators and
// determinism on arbitrary input.
package pii
