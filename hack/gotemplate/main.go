// Command gotemplate is the correctness oracle for the Rust template engine: it renders a batch
// of cases with Go's own text/template (missingkey=error, built-in functions only, as ESO
// configures it minus sprig) and prints the results.
//
// Input (stdin): JSON array of {"name","text","data","left","right"}; data is decoded with
// encoding/json into interface{} (numbers become float64, exactly like the Rust side).
// Output (stdout): JSON array of {"out": base64 of the output bytes, "err": error text or null}.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"text/template"
)

type tcase struct {
	Name  string          `json:"name"`
	Text  string          `json:"text"`
	Data  json.RawMessage `json:"data"`
	Left  string          `json:"left"`
	Right string          `json:"right"`
}

type result struct {
	Out []byte  `json:"out"`
	Err *string `json:"err"`
}

func run(c tcase) (res result) {
	defer func() {
		if r := recover(); r != nil {
			msg := fmt.Sprintf("panic: %v", r)
			res = result{Err: &msg}
		}
	}()
	var data interface{}
	if len(c.Data) > 0 {
		if err := json.Unmarshal(c.Data, &data); err != nil {
			msg := "bad case data: " + err.Error()
			return result{Err: &msg}
		}
	}
	t, err := template.New(c.Name).Delims(c.Left, c.Right).Option("missingkey=error").Parse(c.Text)
	if err != nil {
		msg := err.Error()
		return result{Err: &msg}
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		msg := err.Error()
		return result{Out: buf.Bytes(), Err: &msg}
	}
	return result{Out: buf.Bytes()}
}

func main() {
	var cases []tcase
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		fmt.Fprintln(os.Stderr, "gotemplate: reading cases:", err)
		os.Exit(2)
	}
	out := make([]result, len(cases))
	for i, c := range cases {
		out[i] = run(c)
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "gotemplate: writing results:", err)
		os.Exit(2)
	}
}
