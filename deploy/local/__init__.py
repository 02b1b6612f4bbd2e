"""The local cloud: the suite on one machine, from the same templates and ASL file, no Docker.

`python -m deploy.local` (what `make run` starts) runs, in one process tree:
- an AWS endpoint (moto in server mode, Step Functions execution on) on 127.0.0.1:4566, which
  answers Lambda Invoke itself by running the real handlers in worker processes;
- the local Lambda runtime: per function, warm worker processes with the template's environment
  and `Timeout`, more workers for concurrent invocations up to a limit;
- the local API Gateway on 127.0.0.1:3000, routed from the templates' Api events;
- a local X-Ray daemon on UDP 127.0.0.1:2000 that stores segments in the endpoint;
- the deployer that creates everything from the SAM templates and seeds a demo catalog.
"""
