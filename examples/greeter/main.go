// Command greeter answers HTTP requests with a greeting in the language the
// client prefers (Accept-Language). It is sealyard's example application.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"

	"golang.org/x/text/language"
)

var supported = language.NewMatcher([]language.Tag{language.English, language.French, language.German})

var greetings = map[language.Tag]string{
	language.English: "Hello",
	language.French:  "Bonjour",
	language.German:  "Hallo",
}

func greet(acceptLanguage string) string {
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil {
		tags = nil
	}
	tag, _, _ := supported.Match(tags...)
	base, _ := tag.Base()
	for t, g := range greetings {
		if b, _ := t.Base(); b == base {
			return g
		}
	}
	return greetings[language.English]
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "--once" {
		lang := "en"
		if len(os.Args) > 2 {
			lang = os.Args[2]
		}
		fmt.Println(greet(lang))
		return
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, greet(r.Header.Get("Accept-Language")))
	})
	addr := ":8080"
	log.Printf("greeter listening on %s", addr)
	log.Fatal(http.ListenAndServe(addr, nil))
}
