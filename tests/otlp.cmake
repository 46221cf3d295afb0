# OTLP/HTTP export: encodings, exponential buckets, delivery against a receiver on 127.0.0.1.
if(TK_HAVE_OTLP)
  tk_add_test(test_otlp SOURCES test_otlp.c LABELS integration concurrency)
endif()
