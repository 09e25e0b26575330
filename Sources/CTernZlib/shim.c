#include "CTernZlib.h"
