// Go net/http client for the end-to-end tests (standard library only).
//
//	go_client URL CA_FILE BODY h1|h2
//
// POSTs BODY as JSON to URL, trusting CA_FILE, with the bearer token of
// $API_KEY (kept off the command line), and prints the response body on
// stdout and the protocol used ("proto HTTP/1.1") on stderr.  h1 disables
// HTTP/2 (an empty TLSNextProto map); h2 asks for it through ALPN.  With
// $WAIT_STDIN set it waits for a line on stdin before the request and for
// the end of stdin before it exits (a process that is already running when
// the agent starts, and still there when its record is made).
package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
)

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: go_client URL CA_FILE BODY h1|h2")
		os.Exit(2)
	}
	url, caFile, body, mode := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	pem, err := os.ReadFile(caFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		fmt.Fprintln(os.Stderr, "no certificate in", caFile)
		os.Exit(1)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	switch mode {
	case "h1":
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	case "h2":
		// a custom TLS config turns HTTP/2 off unless asked for
		tr.ForceAttemptHTTP2 = true
	default:
		fmt.Fprintln(os.Stderr, "mode must be h1 or h2")
		os.Exit(2)
	}
	req, err := http.NewRequest("POST", url, bytes.NewBufferString(body))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	req.Header.Set("Content-Type", "application/json")
	if key := os.Getenv("API_KEY"); key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	stdin := bufio.NewReader(os.Stdin)
	if os.Getenv("WAIT_STDIN") != "" {
		stdin.ReadString('\n')
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "proto", resp.Proto)
	os.Stdout.Write(data)
	tr.CloseIdleConnections()
	if os.Getenv("WAIT_STDIN") != "" {
		io.Copy(io.Discard, stdin)
	}
}
