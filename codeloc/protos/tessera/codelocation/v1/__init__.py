"""Generated from protos/ by ``python -m scripts.gen_protos``; do not edit."""
