module agws/gosampleclient

go 1.19
