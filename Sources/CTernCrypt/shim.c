#include "CTernCrypt.h"
