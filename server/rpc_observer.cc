#include "server/rpc_observer.h"

#include <iterator>

namespace callpush {}  // namespace callpush
