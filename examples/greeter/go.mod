module github.com/sealyard/sealyard/examples/greeter

go 1.22

require golang.org/x/text v0.3.5
