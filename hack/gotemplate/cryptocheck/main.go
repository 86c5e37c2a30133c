// Command cryptocheck is the Go-side oracle for the template engine's crypto functions. It uses
// only Go's standard library (the libraries ESO builds on): sprig's AES-CBC format is
// re-implemented here from crypto/aes + crypto/cipher, JWK inputs are produced from keys Go
// generates, and certificates/keys produced by the Rust side are parsed and verified with
// crypto/x509.
//
// Input (stdin): JSON object (see request). Output (stdout): JSON object (see response).
package main

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"hash"
	"math/big"
	"os"
	"strings"
	"time"
)

type aesReq struct {
	Password string `json:"password"`
	Text     string `json:"text"`
}

type oaepReq struct {
	KeyPEM  string `json:"key_pem"`
	Hash    string `json:"hash"`
	Message string `json:"message"`
}

type certReq struct {
	CertPEM string   `json:"cert_pem"`
	KeyPEM  string   `json:"key_pem"`
	Roots   []string `json:"roots"`
}

type request struct {
	AESEncrypt []aesReq  `json:"aes_encrypt"`
	AESDecrypt []aesReq  `json:"aes_decrypt"`
	Oaep       []oaepReq `json:"oaep"`
	Certs      []certReq `json:"certs"`
	Keys       []string  `json:"keys"`
	JWK        bool      `json:"jwk"`
}

type jwkCase struct {
	Public      string `json:"public"`
	Private     string `json:"private"`
	PublicPEM   string `json:"public_pem"`
	PrivatePEM  string `json:"private_pem"`
	Description string `json:"description"`
}

type certFacts struct {
	Err       string   `json:"err"`
	CN        string   `json:"cn"`
	IsCA      bool     `json:"is_ca"`
	KeyUsage  int      `json:"key_usage"`
	ExtUsage  []int    `json:"ext_usage"`
	DNS       []string `json:"dns"`
	IPs       []string `json:"ips"`
	Days      int      `json:"days"`
	Verified  string   `json:"verified"`
	KeyMatch  bool     `json:"key_match"`
	KeyType   string   `json:"key_type"`
	SerialLen int      `json:"serial_bits"`
}

type response struct {
	AESEncrypt []string    `json:"aes_encrypt"`
	AESDecrypt []string    `json:"aes_decrypt"`
	Oaep       []string    `json:"oaep"`
	Certs      []certFacts `json:"certs"`
	Keys       []string    `json:"keys"`
	JWK        []jwkCase   `json:"jwk"`
}

func sprigKey(password string) []byte {
	key := make([]byte, 32)
	copy(key, []byte(password))
	return key
}

func encryptAES(password, plaintext string) string {
	block, _ := aes.NewCipher(sprigKey(password))
	content := []byte(plaintext)
	padding := aes.BlockSize - len(content)%aes.BlockSize
	content = append(content, bytes.Repeat([]byte{byte(padding)}, padding)...)
	out := make([]byte, aes.BlockSize+len(content))
	iv := out[:aes.BlockSize]
	if _, err := rand.Read(iv); err != nil {
		panic(err)
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(out[aes.BlockSize:], content)
	return base64.StdEncoding.EncodeToString(out)
}

func decryptAES(password, crypt64 string) (res string) {
	defer func() {
		if r := recover(); r != nil {
			res = fmt.Sprintf("panic: %v", r)
		}
	}()
	crypt, err := base64.StdEncoding.DecodeString(crypt64)
	if err != nil {
		return "error: " + err.Error()
	}
	block, _ := aes.NewCipher(sprigKey(password))
	iv := crypt[:aes.BlockSize]
	crypt = crypt[aes.BlockSize:]
	dec := make([]byte, len(crypt))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(dec, crypt)
	return string(dec[:len(dec)-int(dec[len(dec)-1])])
}

func parseKey(p string) (crypto.PrivateKey, string, error) {
	block, _ := pem.Decode([]byte(p))
	if block == nil {
		return nil, "", fmt.Errorf("no PEM")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		return k, "rsa-pkcs1", err
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(block.Bytes)
		if err == nil && !bytes.Equal(mustMarshalEC(k), block.Bytes) {
			return k, "ec-sec1-noncanonical", nil
		}
		return k, "ec-sec1", err
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, "", err
		}
		switch k.(type) {
		case ed25519.PrivateKey:
			return k, "ed25519-pkcs8", nil
		case *rsa.PrivateKey:
			return k, "rsa-pkcs8", nil
		case *ecdsa.PrivateKey:
			return k, "ec-pkcs8", nil
		}
	}
	return nil, "", fmt.Errorf("unknown PEM type %s", block.Type)
}

func mustMarshalEC(k *ecdsa.PrivateKey) []byte {
	b, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		panic(err)
	}
	return b
}

func describeKey(p string) string {
	k, typ, err := parseKey(p)
	if err != nil {
		return "error: " + err.Error()
	}
	switch k := k.(type) {
	case *rsa.PrivateKey:
		if err := k.Validate(); err != nil {
			return "invalid: " + err.Error()
		}
		return fmt.Sprintf("%s-%d", typ, k.N.BitLen())
	case *ecdsa.PrivateKey:
		return fmt.Sprintf("%s-%s", typ, k.Curve.Params().Name)
	}
	return typ
}

func oaepHash(name string) hash.Hash {
	switch name {
	case "SHA1":
		return sha1.New()
	case "SHA512":
		return sha512.New()
	}
	return sha256.New()
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func pad(b []byte, n int) []byte {
	out := make([]byte, n)
	copy(out[n-len(b):], b)
	return out
}

func jwkCases() []jwkCase {
	var out []jwkCase
	add := func(desc string, pub, priv map[string]string, pubKey, privKey any) {
		pubDER, err := x509.MarshalPKIXPublicKey(pubKey)
		if err != nil {
			panic(err)
		}
		privDER, err := x509.MarshalPKCS8PrivateKey(privKey)
		if err != nil {
			panic(err)
		}
		pj, _ := json.Marshal(pub)
		sj, _ := json.Marshal(priv)
		out = append(out, jwkCase{
			Public: string(pj), Private: string(sj), Description: desc,
			PublicPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})),
			PrivatePEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})),
		})
	}
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	rpub := map[string]string{"kty": "RSA", "n": b64url(rk.N.Bytes()), "e": b64url(big.NewInt(int64(rk.E)).Bytes())}
	rpriv := map[string]string{"kty": "RSA", "n": rpub["n"], "e": rpub["e"], "d": b64url(rk.D.Bytes()),
		"p": b64url(rk.Primes[0].Bytes()), "q": b64url(rk.Primes[1].Bytes()),
		"dp": b64url(rk.Precomputed.Dp.Bytes()), "dq": b64url(rk.Precomputed.Dq.Bytes()), "qi": b64url(rk.Precomputed.Qinv.Bytes())}
	add("RSA-2048", rpub, rpriv, &rk.PublicKey, rk)
	for _, c := range []struct {
		name  string
		curve elliptic.Curve
	}{{"P-256", elliptic.P256()}, {"P-384", elliptic.P384()}, {"P-521", elliptic.P521()}} {
		ek, _ := ecdsa.GenerateKey(c.curve, rand.Reader)
		size := (c.curve.Params().BitSize + 7) / 8
		pubBytes, _ := ek.PublicKey.ECDH()
		raw := pubBytes.Bytes() // 04 || X || Y
		x, y := raw[1:1+size], raw[1+size:]
		privBytes, _ := ek.ECDH()
		epub := map[string]string{"kty": "EC", "crv": c.name, "x": b64url(x), "y": b64url(y)}
		epriv := map[string]string{"kty": "EC", "crv": c.name, "x": epub["x"], "y": epub["y"], "d": b64url(pad(privBytes.Bytes(), size))}
		add("EC "+c.name, epub, epriv, &ek.PublicKey, ek)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	opub := map[string]string{"kty": "OKP", "crv": "Ed25519", "x": b64url(pub)}
	opriv := map[string]string{"kty": "OKP", "crv": "Ed25519", "x": opub["x"], "d": b64url(priv.Seed())}
	add("Ed25519", opub, opriv, pub, priv)
	return out
}

func checkCert(c certReq) certFacts {
	block, _ := pem.Decode([]byte(c.CertPEM))
	if block == nil || block.Type != "CERTIFICATE" {
		return certFacts{Err: "no CERTIFICATE PEM"}
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return certFacts{Err: err.Error()}
	}
	f := certFacts{CN: cert.Subject.CommonName, IsCA: cert.IsCA, KeyUsage: int(cert.KeyUsage),
		DNS: cert.DNSNames, Days: int(cert.NotAfter.Sub(cert.NotBefore).Round(time.Hour).Hours() / 24),
		SerialLen: cert.SerialNumber.BitLen()}
	for _, u := range cert.ExtKeyUsage {
		f.ExtUsage = append(f.ExtUsage, int(u))
	}
	for _, ip := range cert.IPAddresses {
		f.IPs = append(f.IPs, ip.String())
	}
	roots := x509.NewCertPool()
	for _, r := range c.Roots {
		roots.AppendCertsFromPEM([]byte(r))
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		f.Verified = err.Error()
	} else {
		f.Verified = "ok"
	}
	if k, typ, err := parseKey(c.KeyPEM); err == nil {
		f.KeyType = typ
		if s, ok := k.(crypto.Signer); ok {
			pubDER, _ := x509.MarshalPKIXPublicKey(s.Public())
			certPub, _ := x509.MarshalPKIXPublicKey(cert.PublicKey)
			f.KeyMatch = bytes.Equal(pubDER, certPub)
		}
	} else {
		f.KeyType = "error: " + err.Error()
	}
	return f
}

func main() {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var res response
	for _, r := range req.AESEncrypt {
		res.AESEncrypt = append(res.AESEncrypt, encryptAES(r.Password, r.Text))
	}
	for _, r := range req.AESDecrypt {
		res.AESDecrypt = append(res.AESDecrypt, decryptAES(r.Password, r.Text))
	}
	for _, r := range req.Oaep {
		k, _, err := parseKey(r.KeyPEM)
		rk, ok := k.(*rsa.PrivateKey)
		if err != nil || !ok {
			res.Oaep = append(res.Oaep, "error: not an RSA key")
			continue
		}
		ct, err := rsa.EncryptOAEP(oaepHash(r.Hash), rand.Reader, &rk.PublicKey, []byte(r.Message), nil)
		if err != nil {
			res.Oaep = append(res.Oaep, "error: "+err.Error())
			continue
		}
		res.Oaep = append(res.Oaep, base64.StdEncoding.EncodeToString(ct))
	}
	for _, c := range req.Certs {
		res.Certs = append(res.Certs, checkCert(c))
	}
	for _, k := range req.Keys {
		res.Keys = append(res.Keys, describeKey(k))
	}
	if req.JWK {
		res.JWK = jwkCases()
	}
	_ = strings.TrimSpace
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		os.Exit(2)
	}
}
