#!/usr/bin/env bash
# Renders (and parses) per second of a realistic campaign template, from a release build of
# WaqtorTemplates alone (docs/TEMPLATES.md, "Performance"). About 20 s.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$WAQTOR_ROOT"
swift build -c release --target WaqtorTemplates
swiftc -O -I .build/release/Modules tools/bench-templates.swift \
    .build/release/WaqtorCore.build/*.o .build/release/WaqtorTemplates.build/*.o \
    -o .build/release/bench-templates
exec .build/release/bench-templates
