"""The only layer of the inventory service that talks to DynamoDB."""
