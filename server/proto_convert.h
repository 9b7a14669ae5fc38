// Conversions between the records of server/model.h and the protobuf
// messages of DeviceService.
#ifndef CALLPUSH_SERVER_PROTO_CONVERT_H_
#define CALLPUSH_SERVER_PROTO_CONVERT_H_

#include "callpush/v1/device_service.pb.h"
#include "server/model.h"

namespace callpush {

void ToProto(const DeviceRecord& in, v1::Device* out);
void ToProto(const PatientRecord& in, v1::Patient* out);
void ToProto(const PushAttempt& in, v1::CallPush* out);

}  // namespace callpush

#endif  // CALLPUSH_SERVER_PROTO_CONVERT_H_
