// Command goprobe is a Go program built for wasip1 in the fuel tests: the
// metering must hold on the large, loop-and-br_table code Go emits.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
)

func main() {
	words := map[string]int{}
	for i := range 2000 {
		words[fmt.Sprint("w", i%97)] += i
	}
	keys := make([]string, 0, len(words))
	for k := range words {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out, _ := json.Marshal(map[string]any{"keys": len(keys), "first": keys[0], "w5": words["w5"]})
	fmt.Fprintln(os.Stdout, string(out))
}
