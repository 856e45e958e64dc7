/*-------------------------------------------------------------------------
 *
 * predict.h
 *	  Predictions of trained models, and the one kept on every lead
 *	  (predict.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEAD_GEN_PREDICT_H
#define LEAD_GEN_PREDICT_H

#include "postgres.h"

/*
 * Whether new activity of this kind changes the prediction kept on its lead
 * (the kept model counts it), so the activity trigger must update the lead.
 */
extern bool prediction_watch_kind(const char *kind);

#endif							/* LEAD_GEN_PREDICT_H */
