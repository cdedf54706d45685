/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-core"

#include "config.h"

#include "tandem-store.h"
