#!/bin/sh
# tests/otlp-js-setup.sh — installs the OpenTelemetry JavaScript OTLP transformer (pinned) into
# BUILD_DIR/otlp-js, so that test_otlp also decodes the exporter's protobuf with an independent
# decoder. Needs npm and network; test_otlp skips that check when it is not installed.
#
#     sh tests/otlp-js-setup.sh [BUILD_DIR]     (default: build)
#
# 0.52.1 ships protobufjs definitions of the OTLP messages with decode(); later releases replaced
# them with an encoder-only serializer.
set -eu
build=${1:-build}
mkdir -p "$build/otlp-js"
npm install --no-audit --no-fund --ignore-scripts --prefix "$build/otlp-js" \
    @opentelemetry/otlp-transformer@0.52.1 >/dev/null
echo "installed the OTLP decoder into $build/otlp-js"
