BT_DEBS+=(clang libclang-rt-14-dev)  # the API fuzzer (tests/fuzz): libFuzzer and its sanitizers
