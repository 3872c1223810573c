// Command hello prints a greeting; build tests compile it.
package main

import "fmt"

func main() { fmt.Println("hello from sealyard") }
