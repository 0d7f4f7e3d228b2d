// The export oracle of tests/suite_85_onnx.sh: ONNX Runtime (npm's onnxruntime-node, its CPU
// library as the package ships it) runs a model that `cnnc export` wrote.
//
//   node tests/onnx/ort_run.js MODEL.onnx IMAGES.u8 N H W C
//
// IMAGES.u8 holds N images of H x W x C bytes (tests/unit/infer_ref.c's dump writes it); they
// go in as one float32 [N, H, W, C] batch, each pixel divided by 255 as cnnc scales them.
// Prints one line per image: the class and the outputs with 9 digits, as infer_ref does.
'use strict';
const fs = require('fs');
const path = require('path');
// Installed by the suite with `npm ci --ignore-scripts` under $ORT_PREFIX (the build dir).
const ort = require(path.resolve(process.env.ORT_PREFIX || '.', 'node_modules', 'onnxruntime-node'));

async function main() {
    const [model, images, n, h, w, c] = process.argv.slice(2);
    const dims = [Number(n), Number(h), Number(w), Number(c)];
    const raw = fs.readFileSync(images);
    const size = dims.reduce((a, b) => a * b, 1);
    if (raw.length !== size)
        throw new Error(`${images} has ${raw.length} bytes, not ${dims.join('x')}`);
    // Math.fround(v / 255) is float32 v / 255f: both round the exact quotient once.
    const x = Float32Array.from(raw, (v) => Math.fround(v / 255));
    const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x, dims) };
    const result = await session.run(feeds);
    const out = result[session.outputNames[0]];
    const classes = out.dims[1];
    const lines = [];
    for (let i = 0; i < dims[0]; i++) {
        const row = Array.from(out.data.subarray(i * classes, (i + 1) * classes));
        let best = 0;
        row.forEach((v, j) => { if (v > row[best]) best = j; });
        lines.push(best + ' ' + row.map((v) => v.toPrecision(9)).join(' '));
    }
    process.stdout.write(lines.join('\n') + '\n');
}

main().catch((e) => { console.error('ort_run: ' + e.message); process.exit(1); });
