/* cli_json.h - any protobuf-c message as one JSON object, by reflection. */
#ifndef MAILLAGE_CLI_JSON_H
#define MAILLAGE_CLI_JSON_H

#include <protobuf-c/protobuf-c.h>
#include <stdio.h>

/*
 * Print msg to out as one JSON object followed by a newline:
 * - fields under their .proto names, in field-number order;
 * - proto3 default values (0, false, "", empty bytes, empty repeated, unset
 *   message) omitted, except "code" inside a Status, always printed;
 * - of a oneof, only the member that is set;
 * - enums as their value names (a number when the value is unknown to us);
 * - 64-bit integers as JSON numbers; bytes as lowercase hex strings;
 * - strings escaped (quotes, backslashes, control characters), UTF-8 kept,
 *   any byte that is not part of valid UTF-8 written as U+FFFD;
 * - repeated fields as arrays, messages recursively.
 * Returns 0, or -1 when out is in error (e.g. a closed pipe).
 */
int cli_json_print(FILE *out, const ProtobufCMessage *msg);

#endif
