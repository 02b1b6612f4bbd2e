"""The only layer of the payment service that talks to DynamoDB."""
