package oldmcptmp

import "encoding/base64"

func base64Std(s string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	return string(b), err
}
