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
// Speed work is pinned to a frozen copy of the code before it (internal/piiref):
// Find must return what the reference returns (equivalence test and fuzz target);
// an intended change of results changes the reference too.
package pii
