#!/bin/sh
# Installs the benchmarks' optional peers (bench/peers/package.json: ONNX Runtime for Node) into
# bench/peers/node_modules, apart from smapfill's own dependencies: `npm run bench -- nn-engine`
# uses ONNX Runtime when it is there and says so in its results when it is not.
# onnxruntime-node ships its CPU library for linux-x64 inside the npm package; its install script
# would only fetch GPU (CUDA) libraries, so it is skipped (--ignore-scripts, and
# ONNXRUNTIME_NODE_INSTALL=skip for the versions that honour it): nothing else is downloaded.
set -e
cd "$(dirname "$0")"
ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm install --ignore-scripts --no-audit --no-fund
node -e "require('onnxruntime-node'); console.log('onnxruntime-node', require('onnxruntime-node/package.json').version, 'installed in', process.cwd() + '/node_modules')"
