// Command gooracle answers questions about Go standard-library behaviour that the Rust port must
// reproduce byte for byte (fmt %+v renderings and SHA3-224 hashes, time.ParseDuration and
// Duration.String, regexp.ReplaceAllString, base64 decoding, encoding/json number and object
// formatting). It reads a JSON array of cases on stdin and writes a JSON array of answers, one per
// case and in the same order, on stdout. Standard library only, so it builds offline.
package main

import (
	"bytes"
	"crypto/sha3"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

type testCase struct {
	Op          string            `json:"op"`
	BytesMap    map[string][]byte `json:"bytes_map"`
	StringMap   map[string]string `json:"string_map"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	S           string            `json:"s"`
	Nanos       int64             `json:"nanos"`
	Pattern     string            `json:"pattern"`
	Template    string            `json:"template"`
	Inputs      []string          `json:"inputs"`
	Encoding    string            `json:"encoding"`
}

type answer struct {
	Text    string            `json:"text,omitempty"`
	Hash    string            `json:"hash,omitempty"`
	Nanos   int64             `json:"nanos"`
	Error   string            `json:"error,omitempty"`
	Outputs []string          `json:"outputs,omitempty"`
	Bytes   []byte            `json:"bytes,omitempty"`
	Values  map[string]string `json:"values,omitempty"`
}

func objectHash(x any) answer {
	text := fmt.Sprintf("%+v", x)
	return answer{Text: text, Hash: fmt.Sprintf("%x", sha3.Sum224([]byte(text)))}
}

// jsonMarshalNoEscape mirrors ESO's JSONMarshal helper: encoding/json with HTML escaping off and
// the trailing newline of Encoder.Encode removed.
func jsonMarshalNoEscape(v any) ([]byte, error) {
	buf := &bytes.Buffer{}
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return bytes.TrimRight(buf.Bytes(), "\n"), err
}

// byteValue mirrors how ESO turns one decoded JSON value into secret bytes.
func byteValue(v any) (string, error) {
	switch t := v.(type) {
	case string:
		return t, nil
	case map[string]any:
		b, err := json.Marshal(t)
		return string(b), err
	case []any:
		b, err := json.Marshal(t)
		return string(b), err
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(t), nil
	case nil:
		return "", nil
	default:
		return "", fmt.Errorf("unexpected %T", t)
	}
}

func run(c testCase) answer {
	switch c.Op {
	case "hash_bytes_map":
		return objectHash(c.BytesMap)
	case "hash_string_map":
		return objectHash(c.StringMap)
	case "hash_string":
		return objectHash(c.S)
	case "hash_nil":
		return objectHash(nil)
	case "hash_meta":
		type meta struct {
			annotations map[string]string
			labels      map[string]string
		}
		return objectHash(meta{annotations: c.Annotations, labels: c.Labels})
	case "duration_parse":
		d, err := time.ParseDuration(c.S)
		if err != nil {
			return answer{Error: err.Error()}
		}
		return answer{Nanos: int64(d), Text: d.String()}
	case "duration_format":
		return answer{Text: time.Duration(c.Nanos).String()}
	case "regexp_replace":
		re, err := regexp.Compile(c.Pattern)
		if err != nil {
			return answer{Error: err.Error()}
		}
		out := make([]string, 0, len(c.Inputs))
		for _, in := range c.Inputs {
			out = append(out, re.ReplaceAllString(in, c.Template))
		}
		return answer{Outputs: out}
	case "base64_decode":
		enc := base64.StdEncoding
		if c.Encoding == "url" {
			enc = base64.URLEncoding
		}
		b, err := enc.DecodeString(c.S)
		if err != nil {
			return answer{Error: err.Error()}
		}
		if b == nil {
			b = []byte{}
		}
		return answer{Bytes: b, Text: "ok"}
	case "convert_key":
		// ESO's key conversion rule, written out with Go's unicode tables.
		var b strings.Builder
		for _, r := range c.S {
			if unicode.IsLetter(r) || unicode.IsNumber(r) || r == '-' || r == '.' || r == '_' {
				b.WriteRune(r)
			} else if c.Encoding == "Unicode" {
				fmt.Fprintf(&b, "_U%04x_", r)
			} else {
				b.WriteString("_")
			}
		}
		return answer{Text: b.String()}
	case "json_values":
		var m map[string]any
		if err := json.Unmarshal([]byte(c.S), &m); err != nil {
			return answer{Error: err.Error()}
		}
		values := map[string]string{}
		keys := make([]string, 0, len(m))
		for k, v := range m {
			keys = append(keys, k)
			s, err := byteValue(v)
			if err != nil {
				return answer{Error: err.Error()}
			}
			values[k] = s
		}
		sort.Strings(keys)
		merged, err := jsonMarshalNoEscape(m)
		if err != nil {
			return answer{Error: err.Error()}
		}
		return answer{Values: values, Text: string(merged), Outputs: keys}
	default:
		return answer{Error: "unknown op " + strings.TrimSpace(c.Op)}
	}
}

func main() {
	var cases []testCase
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		fmt.Fprintln(os.Stderr, "gooracle: bad input:", err)
		os.Exit(2)
	}
	answers := make([]answer, 0, len(cases))
	for _, c := range cases {
		answers = append(answers, run(c))
	}
	out, err := json.Marshal(answers)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gooracle: encode:", err)
		os.Exit(2)
	}
	os.Stdout.Write(out)
}
