/* cli_json.h - any protobuf-c message as one JSON object, by reflection. */
#ifndef MAILLAGE_CLI_JSON_H
#define MAILLAGE_CLI_JSON_H

#include <protobuf-c/protobuf-c.h>
#include <stdio.h>

/* Print msg to out as JSON: fields by name in field-number order, the set
 * member of a oneof only, enums by value name, bytes as lowercase hex,
 * proto3 defaults omitted (but always "code" inside a Status). */
void cli_json_print(FILE *out, const ProtobufCMessage *msg);

#endif
