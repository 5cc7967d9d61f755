// The documents' Go sample client (account check and payment status), copied from
// "Check account status" and "Проверка статуса пополнения": MakeSign, CheckLogin and CheckStatus
// are as documented; only the constants (URL, secret, agent, project, service code, username,
// external id) come from environment variables, so the test can point it at the mock.
//
// Usage: AGWS_BASE_URL=... AGWS_SECRET=... AGWS_AGENT=... AGWS_PROJECT=... AGWS_SERVICE_CODE=...
//
//	gosampleclient check <username> | gosampleclient status <external_id>
//
// Prints the HTTP status and the raw response body ("HTTP <code>\n<body>").
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/ioutil"
	"log"
	"net/http"
	"os"
	"sort"
	"time"
)

// Body представляет структуру запроса (account check)
type Body struct {
	Agent       string `json:"agent"`
	UserName    string `json:"username"`
	Project     string `json:"project"`
	ServiseCode string `json:"service_code"`
}

// StatusBody представляет структуру запроса (payment status); the document calls it Body too.
type StatusBody struct {
	Agent       string `json:"agent"`
	Project     string `json:"project"`
	ServiseCode string `json:"service_code"`
	ExternalID  string `json:"external_id"`
}

// Response представляет тело ответа от сервера
type Response struct {
	Status     bool   `json:"status"`
	StatusCode uint32 `json:"status_code"`
	Message    string `json:"message"`
	Result     Result `json:"result"`
}

type Result struct {
	ErrorCode uint32 `json:"error_code"`
	Message   string `json:"message"`
	Data      Data   `json:"data"`
}

type Data struct {
	StatusCode    string    `json:"status_code"`
	StatusMessage string    `json:"status_message"`
	Username      string    `json:"username"`
	Amount        float64   `json:"amount"`
	Datetime      time.Time `json:"datetime"`
	Project       string    `json:"project"`
	ServiceCode   string    `json:"service_code"`
	ExternalID    string    `json:"external_id"`
}

// MakeSign генерирует подпись для HTTP-запроса (generic over both bodies; the documented code
// is identical for each).
func MakeSign(body interface{}, secretKey string) (string, error) {
	// Конвертируем структуру в map для сортировки
	dataMap := make(map[string]interface{})
	jsonData, _ := json.Marshal(body)
	err := json.Unmarshal(jsonData, &dataMap)
	if err != nil {
		return "", err
	}
	// Сортируем ключи по алфавиту
	keys := make([]string, 0, len(dataMap))
	for key := range dataMap {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	// Создаем отсортированный JSON
	sortedData := make(map[string]interface{})
	for _, key := range keys {
		sortedData[key] = dataMap[key]
	}
	// Преобразуем отсортированные данные в JSON
	sortedJson, err := json.Marshal(sortedData)
	if err != nil {
		return "", err
	}
	// Кодируем JSON в base64
	base64EncodedData := base64.StdEncoding.EncodeToString(sortedJson)
	// Конкатенируем base64-данные с секретом
	dataToSign := base64EncodedData + secretKey
	// Хешируем SHA-256
	sha256Hash := sha256.Sum256([]byte(dataToSign))
	sign := hex.EncodeToString(sha256Hash[:])
	return sign, nil
}

// post is the documents' CheckLogin / CheckStatus request code: struct order on the wire.
func post(body interface{}, url, signature string) (int, string, error) {
	// Конвертируем структуру в JSON для отправки
	jsonData, err := json.Marshal(body)
	if err != nil {
		return 0, "", err
	}
	// Создаем и отправляем POST-запрос
	req, err := http.NewRequest("POST", url, bytes.NewBuffer(jsonData))
	if err != nil {
		return 0, "", err
	}
	// Устанавливаем подпись запроса
	req.Header.Set("X-Signature", signature)
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	// Чтение и обработка ответа
	bodyBytes, err := ioutil.ReadAll(resp.Body)
	if err != nil {
		return 0, "", err
	}
	return resp.StatusCode, string(bodyBytes), nil
}

// CheckStatus also parses the answer into the documented Response struct (as the document does),
// so a datetime Go's time.Time cannot read fails here.
func CheckStatus(body StatusBody, url, signature string) (int, string, error) {
	code, jsonResponse, err := post(body, url, signature)
	if err != nil {
		return 0, "", err
	}
	var response Response
	if err := json.Unmarshal([]byte(jsonResponse), &response); err != nil {
		return 0, "", err
	}
	return code, jsonResponse, nil
}

func env(name string) string {
	value := os.Getenv(name)
	if value == "" {
		log.Fatalf("environment variable %s is not set", name)
	}
	return value
}

func main() {
	if len(os.Args) != 3 {
		log.Fatal("usage: gosampleclient check <username> | status <external_id>")
	}
	base := env("AGWS_BASE_URL")
	SecretKey := env("AGWS_SECRET")
	var code int
	var out string
	var err error
	switch os.Args[1] {
	case "check":
		requestBody := Body{Agent: env("AGWS_AGENT"), UserName: os.Args[2], Project: env("AGWS_PROJECT"),
			ServiseCode: env("AGWS_SERVICE_CODE")}
		sign, serr := MakeSign(requestBody, SecretKey)
		if serr != nil {
			log.Fatal("Error generating signature:", serr)
		}
		code, out, err = post(requestBody, base+"/showcase-gateway/api/v1/user/check", sign)
	case "status":
		requestBody := StatusBody{Agent: env("AGWS_AGENT"), Project: env("AGWS_PROJECT"),
			ServiseCode: env("AGWS_SERVICE_CODE"), ExternalID: os.Args[2]}
		sign, serr := MakeSign(requestBody, SecretKey)
		if serr != nil {
			log.Fatal("Error generating signature:", serr)
		}
		code, out, err = CheckStatus(requestBody, base+"/showcase-gateway/api/v1/action/status", sign)
	default:
		log.Fatalf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		log.Fatal("Error sending request: ", err)
	}
	fmt.Printf("HTTP %d\n%s\n", code, out)
}
