// Command butane-oracle translates one Butane document from stdin exactly as the Go boot-operator does
// (butane config.TranslateBytes with Raw and NoResourceAutoCompression, no files directory) and prints
// the outcome as one JSON object on stdout, for the differential test (test/oracle/butane-differential.test.ts).
//
// Exit status: 0 translated (warnings possible), 1 refused by Butane, 2 the oracle itself failed.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/coreos/butane/config"
	"github.com/coreos/butane/config/common"
	"github.com/coreos/vcontext/report"
)

type entry struct {
	Kind    string `json:"kind"`
	Path    string `json:"path"`
	Line    int64  `json:"line,omitempty"`
	Column  int64  `json:"column,omitempty"`
	Message string `json:"message"`
}

type outcome struct {
	OK       bool    `json:"ok"`
	Ignition string  `json:"ignition,omitempty"`
	Error    string  `json:"error,omitempty"`
	Entries  []entry `json:"entries"`
}

func entriesOf(r report.Report) []entry {
	out := []entry{}
	for _, e := range r.Entries {
		item := entry{Kind: e.Kind.String(), Path: e.Context.String(), Message: e.Message}
		if e.Marker.StartP != nil {
			item.Line = e.Marker.StartP.Line
			item.Column = e.Marker.StartP.Column
		}
		out = append(out, item)
	}
	return out
}

func main() {
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "butane-oracle: reading stdin:", err)
		os.Exit(2)
	}
	// The Go operator's renderIgnition: Raw output, no automatic compression, no files directory.
	options := common.TranslateBytesOptions{
		Raw:              true,
		Pretty:           false,
		TranslateOptions: common.TranslateOptions{NoResourceAutoCompression: true},
	}
	ignition, rep, err := config.TranslateBytes(input, options)
	result := outcome{OK: err == nil, Entries: entriesOf(rep)}
	if err != nil {
		result.Error = err.Error()
	} else {
		result.Ignition = string(ignition)
	}
	encoded, marshalErr := json.Marshal(result)
	if marshalErr != nil {
		fmt.Fprintln(os.Stderr, "butane-oracle: encoding result:", marshalErr)
		os.Exit(2)
	}
	fmt.Println(string(encoded))
	if err != nil {
		os.Exit(1)
	}
}
