# The pipeline's Airflow image, used by every Airflow service in docker-compose.yml:
# Airflow's official image + torch (CPU wheels by default) + this project, installed with the same
# constraints as the local venv (constraints.txt) and without the dev extras.
#
#   docker compose build
#   docker build --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 -t recs-airflow:gpu .   # CUDA workers
FROM apache/airflow:3.3.2-python3.11

# Where torch's wheels come from: CPU-only by default (small image); a CUDA index for GPU workers.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG TORCH_VERSION=2.13.0

ENV RECS_HOME=/opt/recs \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

USER root
RUN mkdir -p /opt/recs/outputs /opt/recs/landing && chown -R airflow:0 /opt/recs
USER airflow
WORKDIR /opt/recs

# torch first, in its own layer (the big one), so code changes do not reinstall it. The torch pin is taken out of
# the constraints (it names the +cpu build) so that a CUDA index can be used; Airflow stays at the image's version.
COPY --chown=airflow:0 constraints.txt /opt/recs/constraints.txt
RUN grep -v '^torch==' constraints.txt > /opt/recs/.constraints-image.txt \
 && pip install -c /opt/recs/.constraints-image.txt --extra-index-url "${TORCH_INDEX_URL}" \
        "apache-airflow==${AIRFLOW_VERSION}" "torch==${TORCH_VERSION}"

# The project, editable so jobs/config.py finds recs.toml and sql/ next to the code (RECS_HOME=/opt/recs).
COPY --chown=airflow:0 . /opt/recs
RUN pip install -c /opt/recs/.constraints-image.txt "apache-airflow==${AIRFLOW_VERSION}" "torch==${TORCH_VERSION}" \
        --editable "/opt/recs[celery]" \
 && python -c "import jobs.config, models.base; print('recs-batch installed')"
