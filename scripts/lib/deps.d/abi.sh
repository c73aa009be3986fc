BT_DEBS+=(abigail-tools)  # the ABI gate (tests/abi)
