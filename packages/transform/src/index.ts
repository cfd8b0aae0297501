export { transformChecks } from './checks.js';
export { DEFAULT_LIMITS, TransformExpression, checkExpression, type EvaluationLimits, type ExpressionProblem } from './expression.js';
export { TRANSFORM_ROUTE, transformUrl, type EventTransform, type EventTransformReply, type EventTransformSpec, type JsonataTransformation } from './resources.js';
export { EventTransformComponent, resultToEvent, type EventTransformOptions } from './transform-component.js';
export { transformComponents } from './components.js';
export { transformPlugin } from './plugin.js';
