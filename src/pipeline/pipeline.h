/* pipeline.h: `segue pipeline run` (not written yet; its helper writes this
 * header's contract). */
#ifndef SEGUE_PIPELINE_H
#define SEGUE_PIPELINE_H
#endif
