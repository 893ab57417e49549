package detectors

import "strings"

// entityNames maps the PII recognisers' type names (Presidio style) to the
// lower-case vocabulary that findings, audit records and CEL policies use.
var entityNames = map[string]string{
	"CREDIT_CARD": "credit_card", "US_SSN": "us_ssn", "IBAN_CODE": "iban", "EMAIL_ADDRESS": "email",
	"PHONE_NUMBER": "phone", "IP_ADDRESS": "ip_address", "DATE_OF_BIRTH": "date_of_birth", "DATE_TIME": "date_of_birth",
	"MEDICAL_RECORD": "medical_record_number", "MEDICAL_RECORD_NUMBER": "medical_record_number",
	"US_DRIVER_LICENSE": "us_driver_license", "US_PASSPORT": "us_passport", "PERSON": "person",
	"LOCATION": "address", "ADDRESS": "address", "STREET_ADDRESS": "address",
}

// EntityName returns the policy-vocabulary name of a PII type ("email" for
// EMAIL_ADDRESS); unknown types are lower-cased.
func EntityName(piiType string) string {
	if n, ok := entityNames[piiType]; ok {
		return n
	}
	return strings.ToLower(piiType)
}
