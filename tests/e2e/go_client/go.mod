module llmtap.test/go_client

go 1.17
