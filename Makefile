.PHONY: demo test lock protos bench

demo:  ## run the demo (installs what it needs)
	scripts/demo.sh

test:  ## install everything and run lint, type checks and the test suite
	scripts/test.sh

lock:  ## regenerate requirements/*.txt from pyproject.toml (make lock UPGRADE=1: newest of all)
	scripts/lock.sh $(if $(UPGRADE),--upgrade)

protos:  ## regenerate the protobuf modules from protos/
	scripts/bootstrap.sh dev
	.venv/bin/python -m scripts.gen_protos

bench:  ## Tessera and Dagster side by side (see bench/README.md)
	scripts/bootstrap.sh dev
	.venv/bin/python -m bench run
