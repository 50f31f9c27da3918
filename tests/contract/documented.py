"""Error codes AWS documents but no botocore model lists for an operation, each with its source.

The contract tests accept an error code only if the operation's model lists it, or it is
here: a short, cited list, so an invented code cannot hide behind "AWS might send it".
"""

from __future__ import annotations

#: "Common Errors", the errors every AWS query/JSON API may answer, in each API Reference
#: (https://docs.aws.amazon.com/redshift-data/latest/APIReference/CommonErrors.html; the
#: Lambda and DynamoDB references carry the same list).
COMMON_ERRORS = frozenset(
    {
        "AccessDeniedException",
        "IncompleteSignature",
        "InternalFailure",
        "InvalidAction",
        "InvalidClientTokenId",
        "NotAuthorized",
        "OptInRequired",
        "RequestExpired",
        "ServiceUnavailable",
        "ThrottlingException",
        "ValidationError",
    }
)

#: The JSON 1.1 protocol's own refusals, before any operation runs: a body it cannot read, a
#: target it does not serve (the codes botocore's JSON parser receives from every JSON service).
JSON_PROTOCOL_ERRORS = frozenset({"SerializationException", "UnknownOperationException"})

#: DynamoDB's "Error handling with DynamoDB" page lists UnrecognizedClientException (a bad
#: access key) among the 400 errors of every operation
#: (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html).
DYNAMODB_ERRORS = frozenset({"UnrecognizedClientException"})

#: S3's "List of error codes" (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html):
#: GetObject's model lists only NoSuchKey and InvalidObjectState. "404" is the code botocore
#: gives an S3 error that has no body (botocore/parsers.py, RestXMLParser._do_error_parse).
S3_ERRORS = frozenset({"AccessDenied", "InvalidRange", "NoSuchBucket", "404"})
