int waqtor_proto_placeholder(void) { return 0; }
