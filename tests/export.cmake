# Histogram encoding, trace encoders (Perfetto protobuf, Chrome JSON), export and diff.
tk_add_test(test_hist_codec SOURCES test_hist_codec.c LABELS unit)
tk_add_test(test_trace_encoders SOURCES test_trace_encoders.c LABELS unit)
