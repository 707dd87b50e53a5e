/* share/prices.json embedded in the binary as the default price table. */
	.section .rodata
	.global llmtap_prices_json_start
	.global llmtap_prices_json_end
llmtap_prices_json_start:
	.incbin "share/prices.json"
llmtap_prices_json_end:
	.byte 0
	.section .note.GNU-stack,"",@progbits
