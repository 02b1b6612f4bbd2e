"""The only layer of the order service that talks to DynamoDB."""
