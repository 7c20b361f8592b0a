# This file is part of the order hub.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
