module agws-conformance/tools/gosign

go 1.19
