/* SPDX-License-Identifier: MIT */
/*
 * metrics.h - the node_exporter textfile ([metrics] textfile): the text
 * core/exposition.h makes, written so that the collector never reads
 * half of it.
 */
#pragma once

/* Write @text to @path atomically (a temporary file beside it, renamed). */
int metrics_write(const char *path, const char *text);
