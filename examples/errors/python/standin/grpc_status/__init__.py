"""A stand-in for PyPI's grpcio-status (grpc_status), which Debian's python3
does not package: just the two functions of grpc_status.rpc_status the
errors example calls, with grpcio-status's behaviour. Where grpcio-status
is installed, leave this directory off PYTHONPATH and the real one is used.
"""
