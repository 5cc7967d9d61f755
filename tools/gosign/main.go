// Command gosign is the reference signer for the AGWS X-Signature header: the documents' Go
// sample (MakeSign) taken literally, as a line-oriented filter so that thousands of bodies go
// through one process.
//
// Each stdin line is {"body": <base64 of the raw body>, "secret": <string>, "omit_empty": <bool>}.
// Each stdout line is {"canonical": <base64 or null>, "signature": <hex or null>, "error": <text or null>}.
// A line that is not a valid request gets {"error": "request: ..."}; the filter never stops early.
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"runtime"
)

type request struct {
	Body      string `json:"body"`
	Secret    string `json:"secret"`
	OmitEmpty bool   `json:"omit_empty"`
}

type response struct {
	Canonical *string `json:"canonical"`
	Signature *string `json:"signature"`
	Error     *string `json:"error"`
	GoVersion string  `json:"go_version"`
}

// sign is MakeSign from the documents, minus the struct marshal: the gateway sees raw bytes.
func sign(body []byte, secret string, omitEmpty bool) (canonical []byte, signature string, err error) {
	dataMap := make(map[string]interface{})
	if err = json.Unmarshal(body, &dataMap); err != nil {
		return nil, "", err
	}
	if omitEmpty {
		// The public signing page: fields whose value is "" do not take part in the signature.
		for k, v := range dataMap {
			if s, ok := v.(string); ok && s == "" {
				delete(dataMap, k)
			}
		}
	}
	// json.Marshal sorts map keys, so the documents' sort.Strings loop changes nothing.
	canonical, err = json.Marshal(dataMap)
	if err != nil {
		return nil, "", err
	}
	encoded := base64.StdEncoding.EncodeToString(canonical)
	sum := sha256.Sum256([]byte(encoded + secret))
	return canonical, hex.EncodeToString(sum[:]), nil
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 256<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	for in.Scan() {
		resp := response{GoVersion: runtime.Version()}
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			msg := "request: " + err.Error()
			resp.Error = &msg
		} else if body, err := base64.StdEncoding.DecodeString(req.Body); err != nil {
			msg := "request: body is not base64: " + err.Error()
			resp.Error = &msg
		} else if canonical, signature, err := sign(body, req.Secret, req.OmitEmpty); err != nil {
			msg := err.Error()
			resp.Error = &msg
		} else {
			c := base64.StdEncoding.EncodeToString(canonical)
			resp.Canonical = &c
			resp.Signature = &signature
		}
		// Flush per line so a caller can hold a conversation (one request, one answer).
		if err := enc.Encode(resp); err != nil || out.Flush() != nil {
			os.Exit(1)
		}
	}
	if err := in.Err(); err != nil {
		os.Stderr.WriteString("gosign: " + err.Error() + "\n")
		os.Exit(1)
	}
}
