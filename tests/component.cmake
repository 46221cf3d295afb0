# Per-component timing: the library's sequences, their records and their decoding.
tk_add_test(test_component SOURCES test_component.c LABELS unit)
tk_add_test(test_component_disabled SOURCES test_component_disabled.c LABELS unit)
